{% macro cents_to_dollars(col) %}
  ({{ col }} / 100)::numeric(16, 2) -- {{ ref('inside_macro') }}
{% endmacro %}

{% snapshot orders_snapshot %}
    {{ config(unique_key='id', strategy='check', check_cols='all') }}
    select * from {{ ref('snapshotted') }}
{% endsnapshot %}

{%- for m in ['a', 'b'] -%}
  {% do log(ref('in_do')) %}
  {%- if loop.first %}{% continue %}{% endif -%}
{%- endfor %}
{% call statement('x', fetch_result=True) %}
    select count(*) from {{ ref('in_call_block') }}
{% endcall %}
