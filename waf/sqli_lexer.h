/* placeholder */
#ifndef POSTERN_WAF_SQLI_LEXER_H
#define POSTERN_WAF_SQLI_LEXER_H
#endif
