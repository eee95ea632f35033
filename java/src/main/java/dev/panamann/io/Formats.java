package dev.panamann.io;

import java.math.BigDecimal;
import java.util.Locale;

/** Numbers as the command line and the logs print them. */
public final class Formats {
    private Formats() {}

    /** 0.6123 as "61.23%". */
    public static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * fraction);
    }

    /** Seconds as "m:ss" or "h:mm:ss". */
    public static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    /** The shortest plain decimal of a double: 1.0E-3 as "0.001", 5.0 as "5". */
    public static String number(double v) {
        return new BigDecimal(Double.toString(v)).stripTrailingZeros().toPlainString();
    }

    /** The shortest plain decimal of a float: 1.0E-3f as "0.001", 5f as "5". */
    public static String number(float v) {
        return new BigDecimal(Float.toString(v)).stripTrailingZeros().toPlainString();
    }
}
