package dev.panamann;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The module declaration of the library, read from the compiled classes: every package is
 * exported to applications except the generated bindings, and the module grants what
 * applications of its public API need. Every class file loads on Java 22.
 */
class ModuleInfoTest {

    /** Packages that are deliberately not exported: the jextract-generated FFM bindings. */
    private static boolean internal(String pkg) {
        return pkg.equals("dev.panamann.bindings") || pkg.startsWith("dev.panamann.bindings.");
    }

    /** Class file major version of Java 22, the oldest Java the library supports. */
    private static final int JAVA_22 = 66;

    private static Path classes() throws URISyntaxException {
        return Path.of(Tensor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static ModuleDescriptor descriptor() throws URISyntaxException {
        Path classes = classes();
        ModuleReference ref = ModuleFinder.of(classes).findAll().stream().findFirst()
                .orElseThrow(() -> new AssertionError("no module-info.class in " + classes));
        return ref.descriptor();
    }

    @Test
    void everyPackageButTheBindingsIsExported() throws URISyntaxException {
        ModuleDescriptor d = descriptor();
        assertEquals("dev.panamann", d.name());
        Set<String> expected = d.packages().stream().filter(p -> !internal(p))
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> exported = new TreeSet<>();
        for (ModuleDescriptor.Exports e : d.exports()) {
            assertTrue(!e.isQualified(), "export of " + e.source() + " is qualified: " + e);
            exported.add(e.source());
        }
        assertEquals(expected, exported,
                "module-info.java must export every library package (new packages too) and no bindings package");
        assertTrue(d.packages().contains("dev.panamann.bindings.dnnl"),
                "the generated bindings are compiled into the module");
    }

    @Test
    void desktopIsReadByApplications() throws URISyntaxException {
        // io.Plots returns java.awt.image.BufferedImage: an application using it must read java.desktop.
        ModuleDescriptor.Requires desktop = descriptor().requires().stream()
                .filter(r -> r.name().equals("java.desktop")).findFirst()
                .orElseThrow(() -> new AssertionError("dev.panamann does not require java.desktop"));
        assertTrue(desktop.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE), desktop.toString());
    }

    @Test
    void everyClassFileLoadsOnJava22() throws URISyntaxException, IOException {
        Path classes = classes();
        List<Path> files;
        try (var walk = Files.walk(classes)) {
            files = walk.filter(f -> f.toString().endsWith(".class")).toList();
        }
        assertTrue(files.size() > 100, "library classes in " + classes + ": " + files.size());
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f); DataInputStream data = new DataInputStream(in)) {
                assertEquals(0xCAFEBABE, data.readInt(), f + " is not a class file");
                data.readUnsignedShort();
                int major = data.readUnsignedShort();
                assertTrue(major <= JAVA_22, classes.relativize(f) + " has class file version " + major
                        + ", newer than Java 22's " + JAVA_22 + ": the library compiles with --release 22");
            }
        }
    }
}
