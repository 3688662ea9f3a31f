SELECT client_id FROM main
