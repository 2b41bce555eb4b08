"""Collectors: scrape and Atlas normalisation, the OTLP receiver, log intake and the Elasticsearch puller."""
