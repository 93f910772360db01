"""Asset factories: each takes the month x payer partitions built from the payer registry."""
