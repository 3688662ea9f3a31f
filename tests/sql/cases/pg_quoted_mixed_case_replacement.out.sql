SELECT x FROM "EntityCustomers"
