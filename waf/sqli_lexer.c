/* placeholder: the SQL lexer split out of detect_sqli.c */
