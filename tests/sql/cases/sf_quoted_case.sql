select 1 from "ANALYTICS"."CUSTOMER_FACTS";
select 2 from "analytics"."customer_facts";
select 3 from Analytics.Customer_Facts;
