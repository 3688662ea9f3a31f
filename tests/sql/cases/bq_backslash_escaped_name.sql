SELECT a.id FROM ds.`customer\x5ffacts` AS a JOIN `p.ds.\143ustomer_facts` AS b USING (id)
