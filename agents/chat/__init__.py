"""Chat turns: what a person asked (intent), and the QA agent that answers from cluster facts."""
