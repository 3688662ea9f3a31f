CREATE RULE keep_history AS ON UPDATE TO customer_facts
    DO ALSO INSERT INTO customer_facts_history SELECT OLD.*
