-- relations written without ref(): dbt does not see them, deprecator does
select customer_id from analytics.entity_customers
union all
select cust_id from analytics_marts.cust_facts_tbl
