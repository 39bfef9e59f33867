package toolkit.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * Apicurio's config-index Quarkus extension builds this list at build time;
 * its deployment artifact is not on Maven Central, so the registry here runs
 * without runtime-editable ("dynamic") properties: the list is empty.
 */
public class DynamicConfigProperties {
    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigProperties() {
        return new DynamicConfigPropertyList(List.of());
    }
}
