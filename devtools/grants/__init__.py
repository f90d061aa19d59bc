"""Least privilege, checked offline: record the AWS calls each function makes during the tests
(`recorder`) and compare them with the function's grants in template.yaml (`check`)."""
