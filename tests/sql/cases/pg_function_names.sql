SELECT analytics.customer_facts(1), public.fn(x) FROM generate_series(1, 3) AS g(x)
