#!/bin/sh
# pyship render --target functions: function app shop (Microsoft.Web 2025-03-01).
# The same function app as the template beside it.
set -eu
RG=${RG:?set RG to the resource group}
az functionapp create --resource-group "$RG" --name 'shop' --plan '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Web/serverfarms/linux-plan' --image 'myregistry.azurecr.io/shop@sha256:4f1c0000000000000000000000000000000000000000000000000000000000aa' --storage-account 'shopfuncstate' --functions-version 4 --runtime python --https-only true --assign-identity '[system]'
az functionapp config set --resource-group "$RG" --name 'shop' --always-on true --http20-enabled true --min-tls-version 1.2 --ftps-state Disabled --generic-configurations '{"healthCheckPath": "/healthz", "acrUseManagedIdentityCreds": true}'
az functionapp config appsettings set --resource-group "$RG" --name 'shop' --settings 'FUNCTIONS_EXTENSION_VERSION=~4' 'FUNCTIONS_WORKER_RUNTIME=python' 'AzureWebJobsStorage__accountName=shopfuncstate' 'WEBSITES_ENABLE_APP_SERVICE_STORAGE=false' 'LOG_LEVEL=info' 'API_KEY=@Microsoft.KeyVault(SecretUri=https://shop-kv.vault.azure.net/secrets/api-key/)'
# az functionapp create sets AzureWebJobsStorage to a connection string; the identity reaches the account instead:
az functionapp config appsettings delete --resource-group "$RG" --name 'shop' --setting-names AzureWebJobsStorage
