"""The estate of the fault tests (tests/unit/test_lab_faults_injectors.py and
tests/integration/lab/test_lab_faults.py): two services on one host, PostgreSQL and redis on another."""

FAULTS_ESTATE = """\
version: 1
estate: faults-lab
hosts:
  - {id: node-1, technology: linux}
  - {id: db-1, technology: linux}
datastores:
  - {id: pg-orders, technology: postgres, runs_on: db-1}
  - {id: redis-cart, technology: redis, runs_on: db-1}
services:
  - id: frontend
    technology: python
    calls: [orders]
    instances: [{id: frontend-0, runs_on: node-1}]
  - id: orders
    technology: python
    depends_on: [pg-orders, redis-cart]
    instances: [{id: orders-0, runs_on: node-1}]
lab:
  load: {frontend: 2}
  timeout_ms: 1000
  work_ms: 1
"""
