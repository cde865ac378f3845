#!/bin/sh
# pyship render --target appservice: web app shop (Microsoft.Web 2025-03-01).
# The same site as the template beside it.
set -eu
RG=${RG:?set RG to the resource group}
az webapp create --resource-group "$RG" --name 'shop' --plan '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Web/serverfarms/linux-plan' --deployment-container-image-name 'myregistry.azurecr.io/shop@sha256:4f1c0000000000000000000000000000000000000000000000000000000000aa' --https-only true --assign-identity '[system]'
az webapp config set --resource-group "$RG" --name 'shop' --always-on true --http20-enabled true --min-tls-version 1.2 --ftps-state Disabled --generic-configurations '{"healthCheckPath": "/healthz", "acrUseManagedIdentityCreds": true}'
az webapp config appsettings set --resource-group "$RG" --name 'shop' --settings 'WEBSITES_PORT=8000' 'WEBSITES_ENABLE_APP_SERVICE_STORAGE=false' 'LOG_LEVEL=info' 'SECRET_KEY=@Microsoft.KeyVault(SecretUri=https://shop-kv.vault.azure.net/secrets/secret-key/)'
