select x from "entity_customers"
