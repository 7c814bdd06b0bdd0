"""What plugin authors (and this project) test with: the conformance suite (:mod:`.conformance`,
``pytest --integrations-conformance=NAME``), the fixtures of the package's pytest plugin
(:mod:`.pytest_plugin`: ``clock``, ``no_requests``, ``threaded``, ``integrations_sandbox``,
``integrations_client``), strategies for hostile input (:mod:`.inputs`, needs hypothesis) and the
shape of JSON documents (:mod:`.shapes`). See docs/plugins.md."""
