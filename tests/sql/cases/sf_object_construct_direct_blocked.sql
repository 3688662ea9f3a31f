select object_construct(*) as doc from customer_facts
