SELECT a FROM `my-project.my_dataset.daily events` AS e
