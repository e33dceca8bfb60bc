# The Consul ACL policy spotmax's token needs (Consul ACL rules, HCL). Create and attach it:
#   consul acl policy create -name spotmax -rules @deploy/consul/spotmax-acl-policy.hcl
#   consul acl token create -description spotmax -policy-name spotmax
# and give the token's SecretID to the task (deploy/README.md, "Consul from the task").
#
# What spotmax calls (src/release/consul/releaser.ts) and the ACL each endpoint requires:
#   GET /v1/agent/services                  service:read   the instance agent's services
#   PUT /v1/agent/service/deregister/:id    service:write  each of them
#   PUT /v1/agent/leave                     agent:write    the instance's agent leaves gracefully
#   GET /v1/catalog/nodes                   node:read      fallback when the agent cannot be reached
#   PUT /v1/catalog/deregister              node:write     the node (and its services) from the catalog
# Narrow the prefixes to your naming (for example node_prefix "ip-10-" and the services your Spot
# groups run); the empty prefix covers every name.

service_prefix "" { policy = "write" }
agent_prefix "" { policy = "write" }
node_prefix "" { policy = "write" }
