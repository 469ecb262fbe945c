"""Orchestration: the Responder protocol, direct specialists, MoE, SmartRouter and their catalog.

Import the orchestrators from `asdrp.orchestration.moe` / `asdrp.orchestration.smartrouter`; this
package module stays import-light so `asdrp.orchestration.base` costs nothing.
"""
