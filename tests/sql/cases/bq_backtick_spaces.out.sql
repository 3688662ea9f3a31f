SELECT a FROM `my-project.my_dataset.daily_events_v2` AS e
