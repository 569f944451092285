"""Hosting text stays as typed: no emphasis or heading made out of globs, names and comments."""

from __future__ import annotations

import html
import re

import pytest

from supportdesk.markup import render_markdown

TAG = re.compile(r"<[^>]*>")
FORMATTING = re.compile(r"<(?:em|strong|h[1-6])\b")

HOSTING_TEXT = [
    # the issue's own examples
    "chmod 644 *.php y 2*3=6",
    "mi_variable_larga y __init__.py",
    "{{ 7*7 }}",
    "# comentario",
    # cron lines and globs
    "*/5 * * * * /usr/bin/php /home/usuario/public_html/cron.php",
    "0 */2 * * * find /tmp -name '*.tmp' -delete",
    "ls *.log *.txt",
    "rm -f /var/www/cache/*.html",
    "cp *.php backup_*/",
    "find . -name *_old.* -o -name *.bak*",
    "2 * 3 = 6 y 4*5*6 = 120",
    # snake_case and dunder names
    "define('DB_NAME', 'wp_db_principal'); define('WP_DEBUG_LOG', true);",
    "$table_prefix = 'wp_abc_';",
    "__init__ y __name__ == '__main__'",
    "def __init__(self, *args, **kwargs):",
    "from mi_app.mi_modulo import mi_funcion_larga",
    "el fichero _config_local_.php y el __DIR__",
    "usa la variable _SERVER o $_SERVER['HTTP_HOST']",
    # shell prompts and comments
    "usuario@host:~$ ls *.log",
    "root@vps:/var/log# tail -n 50 *_error.log",
    "#!/bin/bash",
    "#include <stdio.h>",
    "# chmod 644 *.php",
    "### not a heading",
    "# Comentario del script\nset -e",
    "RewriteEngine On\n# Forzar HTTPS\nRewriteCond %{HTTPS} off",
    "# Desactivar listado\nOptions -Indexes",
    "# A\n# B",
    # logs
    "[Mon Jan 01 10:00:00 2024] [error] [client 1.2.3.4] PHP Fatal error: Call to undefined function mi_funcion_x()",
    '1.2.3.4 - - [01/Jan/2024:10:00:00 +0000] "GET /wp-admin/*_x HTTP/1.1" 404 162 "-" "Mozilla/5.0 (*)"',
    "2024/01/01 10:00:00 [error] 123#0: *45 open() \"/var/www/html/favicon.ico\" failed",
    # config: JSON, YAML, .htaccess, nginx
    '{"db_host": "localhost", "max_conn": 10, "glob": "*.php"}',
    "php_value:\n  upload_max_filesize: 64M\n  post_max_size: 64M",
    "<FilesMatch \"(ini|log)$\">\nRequire all denied\n</FilesMatch>",
    "location ~* (jpg|png)$ { expires 30d; }",
    "server_name *.example.com;",
    # SQL and templates
    "SELECT * FROM t WHERE a*b > 2",
    "SELECT COUNT(*) FROM wp_posts WHERE post_status = 'publish';",
    "UPDATE wp_options SET option_value = 'x' WHERE option_name = '_site_transient_x';",
    "{{ precio*cantidad }} y {% if a*b %}",
    "el precio es 3*4 euros y el plazo *aprox* 2*3 dias",
    # backslashes: Windows paths, UNC shares, regular expressions, shell
    r"C:\inetpub\logs\LogFiles\W3SVC1\*.log",
    r"C:\Users\ana\_backup\[2024]\web.config",
    r"\\servidor\compartido\copias",
    r"RewriteRule ^index\.php$ - [L]",
    r"RewriteCond %{REQUEST_URI} !^/\.well-known/ y ^(.*)\/$",
    r"grep -E 'jpg\|png' access.log",
    r"preg_match('/^\d{3}\-\d{4}$/', $tel)",
    r"echo \$HOME \&\& echo una \* \# y \<br\>",
    "una línea que acaba en barra \\\nC:\\temp\\",
]


def visible_text(fragment: str) -> str:
    return " ".join(html.unescape(TAG.sub(" ", fragment)).split())


@pytest.mark.parametrize("text", HOSTING_TEXT)
def test_hosting_text_is_shown_as_typed(text: str) -> None:
    if "*aprox*" in text:
        pytest.skip("mixed prose")  # covered below
    rendered = render_markdown(text)
    assert visible_text(rendered) == " ".join(text.split()), rendered
    assert FORMATTING.search(rendered) is None, rendered


def test_emphasis_among_products_still_works() -> None:
    rendered = render_markdown("el precio es 3*4 euros y el plazo *aprox* 2*3 dias")
    assert rendered == "<p>el precio es 3*4 euros y el plazo <em>aprox</em> 2*3 dias</p>"


@pytest.mark.parametrize(("text", "expected"), [
    ("*importante*", "<p><em>importante</em></p>"),
    ("**muy importante**", "<p><strong>muy importante</strong></p>"),
    ("_nota_", "<p><em>nota</em></p>"),
    ("__nota larga__", "<p><strong>nota larga</strong></p>"),
    ("***ambas***", "<p><em><strong>ambas</strong></em></p>"),
    ("Es *muy* importante.", "<p>Es <em>muy</em> importante.</p>"),
    ("(*opcional*)", "<p>(<em>opcional</em>)</p>"),
    ("¿*Seguro*?", "<p>¿<em>Seguro</em>?</p>"),
    ("**Nota:** reinicie.", "<p><strong>Nota:</strong> reinicie.</p>"),
    ("**Reinicie el servidor.**", "<p><strong>Reinicie el servidor.</strong></p>"),
    ("*`php.ini`*", "<p><em><code>php.ini</code></em></p>"),
    ("**[panel](https://panel.example)**",
     '<p><strong><a href="https://panel.example" rel="nofollow noopener noreferrer">panel</a></strong></p>'),
])
def test_intended_emphasis_still_works(text: str, expected: str) -> None:
    assert render_markdown(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("## Pasos", "<h2>Pasos</h2>"),
    ("# Title", "<h1>Title</h1>"),
    ("### 3 pasos", "<h3>3 pasos</h3>"),
    ("## ¿Cómo cambio la contraseña?", "<h2>¿Cómo cambio la contraseña?</h2>"),
    ("## Pasos\n\nAbra el panel.", "<h2>Pasos</h2>\n<p>Abra el panel.</p>"),
    ("## Pasos\n1. Abra\n2. Pulse", "<h2>Pasos</h2>\n<ol>\n<li>Abra</li>\n<li>Pulse</li>\n</ol>"),
    ("## Pasos\n- Abra", "<h2>Pasos</h2>\n<ul>\n<li>Abra</li>\n</ul>"),
    ("Hola,\n\n## Pasos\n\nFin", "<p>Hola,</p>\n<h2>Pasos</h2>\n<p>Fin</p>"),
])
def test_intended_headings_still_work(text: str, expected: str) -> None:
    assert render_markdown(text) == expected


def test_code_keeps_its_markers() -> None:
    assert render_markdown("`*.php` y `__init__`") == "<p><code>*.php</code> y <code>__init__</code></p>"
    assert render_markdown("```\n# comentario\n*/5 * * * *\n```") == (
        "<pre><code># comentario\n*/5 * * * *\n</code></pre>"
    )
