-- depends_on: {{ ref('customer_facts') }}
{%- set facts = ref("customer_facts") -%}
{% if target.type == 'snowflake' %}
select * from {{ ref('shop', 'customer_facts') }}
{% else %}
select cust_id from {{
    shop_union(relations=[ref('dim_customers', v=1), ref('entity_customers')])
}} u
where cust_id in (select cust_id from {{ ref('dim_customers', version='1') }})
{% endif %}
