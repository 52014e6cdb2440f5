repo = "juniormoreira88/job2"
user = "juniormoreira88"
pass = "Teste1234"
