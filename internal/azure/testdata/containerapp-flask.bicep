// pyship render --target aca: Container App shop (Microsoft.App 2026-01-01).
// az deployment group create --resource-group RG --template-file THIS_FILE
resource app 'Microsoft.App/containerApps@2026-01-01' = {
  name: 'shop'
  location: 'westeurope'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shop': {}
    }
  }
  properties: {
    environmentId: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/prod'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 8000
        transport: 'auto'
        allowInsecure: false
        traffic: [
          {
            latestRevision: true
            weight: 100
          }
        ]
      }
      registries: [
        {
          server: 'myregistry.azurecr.io'
          identity: '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shop'
        }
      ]
    }
    template: {
      revisionSuffix: '3f2a9c1d'
      containers: [
        {
          name: 'shop'
          image: 'myregistry.azurecr.io/shop@sha256:4f1c0000000000000000000000000000000000000000000000000000000000aa'
          env: [
            {
              name: 'GREETING'
              value: 'it\'s \${fine}\\ok'
            }
          ]
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 8000
              }
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/healthz'
                port: 8000
              }
              periodSeconds: 5
              failureThreshold: 3
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 8000
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: 1
      }
    }
  }
}
