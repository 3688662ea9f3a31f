{% macro shop_union(relations) -%}
  {%- for r in relations %}select * from {{ r }}{% if not loop.last %} union all {% endif %}{% endfor -%}
{%- endmacro %}
