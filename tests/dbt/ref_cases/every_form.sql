{{ config(materialized='table') }}
-- depends_on: {{ ref('orders_daily') }}
{%- set base = ref("customer_facts") -%}
{% if target.type == 'snowflake' %}
select * from {{
    dbt_utils.union_relations(relations=[ref('shared', 'customer_facts'), ref('payments', v=2)])
}}
{% else %}
select * from {{ ref('payments', version='1') }} p
join {{ source('raw', 'customers') }} c on c.id = p.customer_id
{% endif %}
{# {{ ref('in_a_comment') }} is not a call #}
{% raw %}{{ ref('in_raw') }}{% endraw %}
union all select * from {{ my_macro(ref('macro_arg')) }}
union all select * from {{ ref(var('model_name')) }}
union all select * from {{ref('tight')}}, {{ ref( 'spaced' ) }}
