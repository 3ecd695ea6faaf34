"""The YAML agent's tools: generate manifests with sound defaults, check them (schema + lint), repair them."""
