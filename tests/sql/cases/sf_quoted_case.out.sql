select 1 from "ANALYTICS"."ENTITY_CUSTOMERS";
select 2 from "analytics"."customer_facts";
select 3 from Analytics.ENTITY_CUSTOMERS;
