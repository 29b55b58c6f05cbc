import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Store;
import jakarta.mail.Transport;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Properties;

/**
 * A legacy Jakarta Mail program, written the way old Talend/ESB jobs are: host, port, user
 * and password, nothing else. Prints one line per finding ("folders ...", "message <sha256>",
 * "sent") or "error <class>: <message>".
 *
 *   java LegacyClient imap|pop3|smtp none|starttls|implicit host port user password [message-file from to]
 */
public class LegacyClient {
  public static void main(String[] args) throws Exception {
    String protocol = args[0], tls = args[1], host = args[2], user = args[4], password = args[5];
    int port = Integer.parseInt(args[3]);
    String scheme = protocol;
    Properties props = new Properties();
    // Transport.send always takes the "smtp" transport, so SMTP turns TLS on by property;
    // the stores use their "s" protocols, as most programs do.
    if (tls.equals("implicit") && protocol.equals("smtp")) props.put("mail.smtp.ssl.enable", "true");
    else if (tls.equals("implicit")) scheme += "s";
    if (tls.equals("starttls")) {
      props.put("mail." + scheme + ".starttls.enable", "true");
      props.put("mail." + scheme + ".starttls.required", "true");
    }
    props.put("mail." + scheme + ".connectiontimeout", "20000");
    props.put("mail." + scheme + ".timeout", "120000");
    try {
      Session session = Session.getInstance(props);
      if (protocol.equals("smtp")) send(session, scheme, host, port, user, password, args[6], args[7], args[8], props);
      else read(session, scheme, host, port, user, password);
    } catch (Exception e) {
      System.out.println("error " + e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replace('\n', ' '));
    }
  }

  static void read(Session session, String scheme, String host, int port, String user, String password) throws Exception {
    Store store = session.getStore(scheme);
    store.connect(host, port, user, password);
    StringBuilder names = new StringBuilder();
    for (Folder f : store.getDefaultFolder().list("*")) names.append(names.length() > 0 ? "|" : "").append(f.getFullName());
    System.out.println("folders " + names);
    Folder inbox = store.getFolder("INBOX");
    inbox.open(Folder.READ_ONLY);
    for (Message m : inbox.getMessages()) {
      ByteArrayOutputStream raw = new ByteArrayOutputStream();
      m.writeTo(raw);
      System.out.println("message " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(raw.toByteArray())));
    }
    inbox.close(false);
    store.close();
  }

  static void send(Session session, String scheme, String host, int port, String user, String password, String file, String from, String to, Properties props) throws Exception {
    props.put("mail." + scheme + ".auth", "true");
    props.put("mail." + scheme + ".auth.mechanisms", "LOGIN");
    props.put("mail." + scheme + ".host", host);
    props.put("mail." + scheme + ".port", String.valueOf(port));
    Session sending = Session.getInstance(props);
    try (FileInputStream in = new FileInputStream(file)) {
      MimeMessage message = new MimeMessage(sending, in);
      message.setFrom(from);
      message.setRecipients(Message.RecipientType.TO, to);
      Transport.send(message, user, password);
    }
    System.out.println("sent");
  }
}
