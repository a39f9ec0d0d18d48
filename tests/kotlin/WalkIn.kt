// The walk-in flow through the generated Kotlin bindings of fiche-mobile, on the JVM, against a
// real fiche-server process: a client filed with a photo while the server is down, a duplicate
// warning for a similar entry, sync, and a second device sees the client and its photo.
//
// Run by scripts/kotlin-test.sh: java ... WalkInKt SERVER_BIN WORK_DIR

import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.io.File
import javax.imageio.ImageIO
import kotlinx.coroutines.runBlocking
import uniffi.fiche_mobile.*

fun photo(): ByteArray {
    val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
    for (x in 0 until 320) for (y in 0 until 240) image.setRGB(x, y, (x * 7 % 256 shl 16) or (y * 5 % 256 shl 8) or 128)
    val out = ByteArrayOutputStream()
    ImageIO.write(image, "png", out)
    return out.toByteArray()
}

fun walkIn(first: String, last: String, phone: String) = WalkIn(
    clientType = "person", firstName = first, lastName = last, companyName = "", vatNumber = "",
    phone = phone, email = "", birthday = "", groups = listOf("walk-in"),
    notes = "Came in for a quote.", consent = true,
)

fun main(args: Array<String>) {
    val (serverBin, work) = args
    val desk = FicheStore.open("$work/desk", "desk-1", "FR")
    check("person" in desk.settings().clientTypes)

    // Invalid input: refused field by field, nothing written.
    try {
        desk.createClient(walkIn("Marie", "Dupont", "not a phone"))
        error("an invalid phone was accepted")
    } catch (e: FicheException.Invalid) {
        check(e.problems.any { it.field.startsWith("phones.") }) { e.problems.toString() }
    }
    check(desk.count() == 0uL)

    // Filed with no server running, photo included.
    val created = desk.createClient(walkIn("Marie", "Dupont", "06 12 34 56 78"))
    val bytes = photo()
    val info = desk.setPhoto(created.id, bytes, "marie.png")
    check(info.mediaType == "image/png" && info.thumbnail != null)

    // A second, similar entry is flagged while typing.
    val similar = desk.similar(walkIn("Marie", "Dupond", "+33612345678"))
    check(similar.map { it.id } == listOf(created.id)) { similar.toString() }

    val server = ProcessBuilder(serverBin, "--listen", "127.0.0.1:0", "--data-dir", "$work/server", "--no-auth")
        .redirectError(ProcessBuilder.Redirect.DISCARD).start()
    try {
        val port = server.inputStream.bufferedReader().readLine().trim().substringAfterLast(':')
        val url = "ws://127.0.0.1:$port"
        runBlocking {
            val summary = desk.syncOnce(url)
            check(summary.uploaded >= 2uL) { summary.toString() }
            val office = FicheStore.open("$work/office", "office-1", "FR")
            office.syncOnce(url)
            val rows = office.list("dupont", 0u, 50u)
            check(rows.map { it.id } == listOf(created.id)) { rows.toString() }
            check(rows[0].phones == listOf("+33612345678")) { rows[0].phones.toString() }
            val card = office.client(created.id)
            check(card.photo?.hash == info.hash)
            check(office.fetchFile(url, info.hash).contentEquals(bytes)) { "other photo bytes" }
        }
    } finally {
        server.destroy()
        server.waitFor()
    }
    println("kotlin walk-in flow: ok")
}
