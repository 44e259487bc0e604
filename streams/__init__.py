"""Signpost: trusted help above search results, decided on a Kafka stream."""
