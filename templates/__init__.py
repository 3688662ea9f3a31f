# Templates shipped inside the wheel as deprecator.templates
