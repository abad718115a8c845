package org.openlogin.gateway;

import io.quarkus.security.Authenticated;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.eclipse.microprofile.config.inject.ConfigProperty;

@Path("/orders")
@Authenticated
public class OrdersResource {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Inject SecurityIdentity identity;

  @ConfigProperty(name = "upstream.url")
  String upstream;

  @GET
  public Response orders() throws Exception {
    // Reached only with an active token: the principal's name is the customer id.
    HttpRequest request = HttpRequest.newBuilder(URI.create(upstream + "/orders"))
        .header("X-Customer-Id", identity.getPrincipal().getName())
        .build();
    HttpResponse<String> answer = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    return Response.status(answer.statusCode()).type("application/json").entity(answer.body()).build();
  }
}
