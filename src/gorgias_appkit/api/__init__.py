"""The Gorgias REST API client."""
