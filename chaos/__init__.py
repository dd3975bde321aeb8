"""The chaos run: the whole daemon under crashes, kills and outages, with figures (`make chaos`)."""
