"""Rules every API surface obeys at once: contract states, hostile input."""
