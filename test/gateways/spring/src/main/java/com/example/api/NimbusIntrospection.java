package com.example.api;

import org.springframework.boot.autoconfigure.security.oauth2.resource.OAuth2ResourceServerProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.security.oauth2.server.resource.introspection.NimbusOpaqueTokenIntrospector;
import org.springframework.security.oauth2.server.resource.introspection.OpaqueTokenIntrospector;

/**
 * The older introspector, deprecated since Spring Security 6.4 and removed in 7.0,
 * still used by many 6.x applications: with the profile "nimbus" it replaces the
 * SpringOpaqueTokenIntrospector that Spring Boot builds from the same properties,
 * so the test runs the guide's configuration with each of them.
 */
@Configuration
@Profile("nimbus")
class NimbusIntrospection {
  @Bean
  @SuppressWarnings("deprecation")
  OpaqueTokenIntrospector nimbusIntrospector(OAuth2ResourceServerProperties properties) {
    OAuth2ResourceServerProperties.Opaquetoken opaque = properties.getOpaquetoken();
    return new NimbusOpaqueTokenIntrospector(opaque.getIntrospectionUri(), opaque.getClientId(), opaque.getClientSecret());
  }
}
