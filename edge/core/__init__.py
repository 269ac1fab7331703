"""The alarm core's side of the rule engine, beside `edge.runtime`: what the pure engine (edge/rules)
decides is carried out here. `apply` writes its actions to the store, `persist` saves and loads its
state, `notify` calls the escalation webhooks, `maintenance` bounds and audits test mode, `registry`
builds the engine from the config. Only the runtime's writer thread calls the writing ones.
"""
