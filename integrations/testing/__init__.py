"""What plugin authors (and this project) test with: strategies for hostile input (:mod:`.inputs`)
and the shape of JSON documents (:mod:`.shapes`). Needs the ``test`` extra."""
