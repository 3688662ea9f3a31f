select * from {{ ref(var('facts_model', 'customer_facts')) }}
