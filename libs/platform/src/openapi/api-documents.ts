import { Controller, Get, Inject, Module, UseGuards, type Type } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags, type OpenAPIObject } from '@nestjs/swagger';
import { AdminTokenGuard } from '../admin/admin-token';
import { Public } from '../auth/public.decorator';
import type { ServiceName } from '../tokens';
import { SERVICE_API_DOCUMENTS } from './service-api';

/** The OpenAPI documents of the services one HTTP server serves, built once at start. */
export class ApiDocuments {
  private readonly documents = new Map<ServiceName, OpenAPIObject>();
  private readonly gaps = new Map<ServiceName, string[]>();

  set(service: ServiceName, document: OpenAPIObject, undocumented: string[] = []): void {
    this.documents.set(service, document);
    this.gaps.set(service, undocumented);
  }

  get(service: ServiceName): OpenAPIObject | undefined {
    return this.documents.get(service);
  }

  services(): ServiceName[] {
    return [...this.documents.keys()];
  }

  /** Validated DTO properties that a service's document does not show (see `describeDtoValidation`). */
  undocumented(service: ServiceName): string[] {
    return this.gaps.get(service) ?? [];
  }
}

const capitalized = (service: string): string => `${service.charAt(0).toUpperCase()}${service.slice(1)}`;

/**
 * For each service that serves its document, a module with one controller:
 * `GET <path>` answers the document (public, or behind the admin token for
 * admin). Built per server, since the path, the guard and the document differ.
 * The controller's route is in the service's own document.
 */
export function apiDocumentModules(services: readonly ServiceName[], documents: ApiDocuments): Map<ServiceName, Type<unknown>> {
  const modules = new Map<ServiceName, Type<unknown>>();
  for (const service of services) {
    const info = SERVICE_API_DOCUMENTS[service];
    if (!info.path) continue;
    const path = info.path;

    class OpenApiDocumentController {
      constructor(@Inject(ApiDocuments) private readonly documents: ApiDocuments) {}

      document(): OpenAPIObject {
        // Built before the server listens; never missing once a request can arrive.
        return this.documents.get(service) as OpenAPIObject;
      }
    }
    const name = `${capitalized(service)}OpenApi`;
    Object.defineProperty(OpenApiDocumentController, 'name', { value: `${name}Controller` });
    const descriptor = Object.getOwnPropertyDescriptor(OpenApiDocumentController.prototype, 'document') as PropertyDescriptor;
    for (const decorate of [
      Get(path),
      ApiOperation({ operationId: `get${name}`, summary: `This document: the ${service} API (OpenAPI 3.1)` }),
      ApiOkResponse({ description: 'The OpenAPI 3.1 document, as committed in docs/api/', schema: { type: 'object' } }),
    ]) {
      decorate(OpenApiDocumentController.prototype, 'document', descriptor);
    }
    ApiTags('openapi')(OpenApiDocumentController);
    Controller()(OpenApiDocumentController);
    if (info.readers === 'admin') UseGuards(AdminTokenGuard)(OpenApiDocumentController);
    else Public({ tenant: false })(OpenApiDocumentController);

    class OpenApiDocumentModule {}
    Object.defineProperty(OpenApiDocumentModule, 'name', { value: `${name}Module` });
    Module({ controllers: [OpenApiDocumentController], providers: [{ provide: ApiDocuments, useValue: documents }] })(OpenApiDocumentModule);
    modules.set(service, OpenApiDocumentModule);
  }
  return modules;
}
