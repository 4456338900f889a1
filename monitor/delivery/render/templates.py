"""Built-in alert and digest templates, one per format (trusted source, never feed text).

Used when a channel has no ``template`` and whenever an operator template fails. Variables are
listed in :mod:`monitor.delivery.render.context`.
"""

from __future__ import annotations

from monitor.delivery.markup import Format

ALERT_TEMPLATES: dict[Format, str] = {
    "text": """\
{{ rule }}: {{ title }}
{{ byline }}
{{ link }}

Matched: {{ terms | join(", ") }}
{% if entities %}Entities: {{ entities | join(", ") }}
{% endif %}
{% for s in snippets %}
- {{ s }}
{% endfor %}
{% if also_reported %}

{{ also_reported }}
{% endif %}
""",
    "markdown": """\
**{{ rule }}**: {{ title }}
{{ byline }}
{{ link }}

**Matched:** {{ terms | join(", ") }}
{% if entities %}**Entities:** {{ entities | join(", ") }}
{% endif %}
{% for s in snippets %}
• {{ s }}
{% endfor %}
{% if also_reported %}

_{{ also_reported }}_
{% endif %}
""",
    "html": """\
<p><b>{{ rule }}</b>: {{ title }}<br/>
{{ byline }}<br/>
{{ link }}</p>
<p><b>Matched:</b> {{ terms | join(", ") }}
{% if entities %}<br/><b>Entities:</b> {{ entities | join(", ") }}{% endif %}</p>
{% if snippets %}
<ul>
{% for s in snippets %}
<li>{{ s }}</li>
{% endfor %}
</ul>
{% endif %}
{% if also_reported %}
<p><i>{{ also_reported }}</i></p>
{% endif %}
""",
}

DIGEST_TEMPLATES: dict[Format, str] = {
    "text": """\
{{ count }} new alert{{ "s" if count != 1 else "" }}
{% for a in alerts %}

{{ loop.index }}. {{ a.rule }}: {{ a.title }}
   {{ a.byline }}
   {{ a.link }}
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
<li><b>{{ a.rule }}</b>: {{ a.title }}<br/>
{{ a.byline }}<br/>
{{ a.link }}
{% for s in a.snippets %}
<br/>• {{ s }}
{% endfor %}
</li>
{% endfor %}
</ol>
{% if more %}
<p><i>and {{ more }} more</i></p>
{% endif %}
""",
}
