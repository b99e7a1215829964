"""The requester's pages for a project's data and money: upload, funding, export."""
