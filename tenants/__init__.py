"""Tenants: the registry, provisioning, connections and each tenant's own store."""
