"""Built-in alert and digest templates, one per format (trusted source, never feed text).

Used when a channel has no ``template`` and whenever an operator template fails. Variables are
listed in :mod:`monitor.delivery.render.context`.
"""

from __future__ import annotations

from monitor.delivery.markup import Format

ALERT_TEMPLATES: dict[Format, str] = {
    # The header ([rule] title) is the message's title: the body does not repeat it.
    "text": """\
{{ byline }}
{{ link }}

Matched: {{ matched_groups | join("; ") }}
{% for s in snippets %}
- {{ s }}
{% endfor %}
{% if also_reported %}

{{ also_reported }}
{% endif %}
{% if web_link %}

Evidence and feedback: {{ web_link }}
{% endif %}
""",
    "markdown": """\
{{ byline }}
{{ link }}

**Matched:** {{ matched_groups | join("; ") }}
{% for s in snippets %}
• {{ s }}
{% endfor %}
{% if also_reported %}

_{{ also_reported }}_
{% endif %}
{% if web_link %}

Evidence and feedback: {{ web_link }}
{% endif %}
""",
    # Mail: inline styles only (clients drop <style>), no layout tables, one block per line
    # with no indentation, so apprise's text part has no stray spaces.
    "html": """\
<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.4;\
color:#222;max-width:640px">
<p dir="auto" style="margin:0 0 2px 0;font-size:16px;font-weight:bold">{{ title_link }}</p>
<p style="margin:0 0 10px 0;font-size:12px;color:#666">{{ rule }} | {{ byline }}<br/>\
{{ link }}</p>
<p style="margin:0 0 6px 0"><b>Matched:</b> {{ matched_groups | join("; ") }}</p>
{% if snippets %}
<ul style="margin:0 0 10px 0;padding-left:18px">
{% for s in snippets %}
<li dir="auto" style="margin:0 0 4px 0">{{ s }}</li>
{% endfor %}
</ul>
{% endif %}
{% if also_reported %}
<p style="margin:0;font-size:12px;color:#666">{{ also_reported }}</p>
{% endif %}
{% if web_url %}
<p style="margin:6px 0 0 0;font-size:12px"><a href="{{ web_url }}">Evidence and feedback</a></p>
{% endif %}
</div>
""",
}

DIGEST_TEMPLATES: dict[Format, str] = {
    "text": """\
{{ count }} new alert{{ "s" if count != 1 else "" }}
{% for a in alerts %}

{{ loop.index }}. {{ a.rule }}: {{ a.title }}
   {{ a.byline }}
   {{ a.link }}
{% if a.web_link %}
   Evidence and feedback: {{ a.web_link }}
{% endif %}
{% for s in a.snippets %}
   - {{ s }}
{% endfor %}
{% endfor %}
{% if more %}

... and {{ more }} more
{% endif %}
""",
    "markdown": """\
**{{ count }} new alert{{ "s" if count != 1 else "" }}**
{% for a in alerts %}

{{ loop.index }}\\. **{{ a.rule }}**: {{ a.title }}
{{ a.byline }}
{{ a.link }}
{% if a.web_link %}
Evidence and feedback: {{ a.web_link }}
{% endif %}
{% for s in a.snippets %}
• {{ s }}
{% endfor %}
{% endfor %}
{% if more %}

_and {{ more }} more_
{% endif %}
""",
    "html": """\
<p><b>{{ count }} new alert{{ "s" if count != 1 else "" }}</b></p>
<ol>
{% for a in alerts %}
<li><b>{{ a.rule }}</b>: <span dir="auto">{{ a.title }}</span><br/>
{{ a.byline }}<br/>
{{ a.link }}
{% if a.web_url %}
<br/><a href="{{ a.web_url }}">Evidence and feedback</a>
{% endif %}
{% for s in a.snippets %}
<br/>• <span dir="auto">{{ s }}</span>
{% endfor %}
</li>
{% endfor %}
</ol>
{% if more %}
<p><i>and {{ more }} more</i></p>
{% endif %}
""",
}
