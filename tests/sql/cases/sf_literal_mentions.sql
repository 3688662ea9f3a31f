select 'select * from customer_facts' as q, $$customer_facts$$ as d from dual_src
